"""A tiny randomly initialised MusicGen (+ processor) for tests and benchmarks.

It runs the real ``transformers`` generate path on CPU in well under a second
and needs no download: the tokenizer is a dozen-word unigram model built in
memory, because no tokenizer files exist offline.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models
from transformers import (
    EncodecConfig,
    EncodecFeatureExtractor,
    MusicgenConfig,
    MusicgenDecoderConfig,
    MusicgenForConditionalGeneration,
    MusicgenMelodyConfig,
    MusicgenMelodyDecoderConfig,
    MusicgenMelodyForConditionalGeneration,
    MusicgenProcessor,
    T5Config,
    T5TokenizerFast,
)

SR = 32_000
CODEBOOKS = 4
WORDS = ["sad", "happy", "lofi", "piano", "rock", "house", "ambient", "bpm", "in", "minor", "major"]


def _codec() -> EncodecConfig:
    return EncodecConfig(sampling_rate=SR, audio_channels=1, hidden_size=16, num_filters=4, num_residual_layers=1,
                         upsampling_ratios=[8, 5, 4, 4], codebook_size=64, codebook_dim=16,
                         target_bandwidths=[1.2], num_lstm_layers=1)  # 1.2 kbps -> 4 codebooks


def _text() -> T5Config:
    return T5Config(vocab_size=len(WORDS) + 3, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=2)


def _decoder_kwargs() -> dict:
    return {"vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 32,
            "num_codebooks": CODEBOOKS, "pad_token_id": 64, "decoder_start_token_id": 64, "bos_token_id": 64}


def tiny_model(seed: int = 0, melody: bool = False):
    """2-layer T5 text encoder, 4-codebook EnCodec, 2-layer decoder; the same weights for the same seed.

    ``melody=True`` gives the musicgen-melody architecture (chroma conditioning).
    """
    if melody:
        config = MusicgenMelodyConfig(text_encoder=_text().to_dict(), audio_encoder=_codec().to_dict(),
                                      decoder=MusicgenMelodyDecoderConfig(**_decoder_kwargs()).to_dict(),
                                      num_chroma=12, chroma_length=40)
        cls = MusicgenMelodyForConditionalGeneration
    else:
        config = MusicgenConfig(text_encoder=_text().to_dict(), audio_encoder=_codec().to_dict(),
                                decoder=MusicgenDecoderConfig(**_decoder_kwargs()).to_dict())
        cls = MusicgenForConditionalGeneration
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = cls(config).eval()
        with torch.no_grad():  # EnCodec codebooks start at zero: make codes audible so seeds make a difference
            for layer in model.audio_encoder.quantizer.layers:
                layer.codebook.embed.normal_()
            if melody:  # random init barely lets the chroma through; make the melody audible to the decoder
                model.audio_enc_to_dec_proj.weight.normal_(0.0, 8.0)
    return model


def tiny_processor() -> MusicgenProcessor:
    """A T5-style (unigram) tokenizer over a dozen words: no tokenizer files exist offline."""
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(w, -1.0) for w in WORDS]
    tokenizer = T5TokenizerFast(tokenizer_object=Tokenizer(models.Unigram(vocab, unk_id=2)), pad_token="<pad>",
                                eos_token="</s>", unk_token="<unk>", extra_ids=0)
    return MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=SR),
                             tokenizer=tokenizer)


def save_tiny_musicgen(folder: Path, melody: bool = False) -> Path:
    """Write the tiny model and its tokenizer to ``folder`` (loadable with ``from_pretrained``)."""
    tiny_model(melody=melody).save_pretrained(folder)
    tiny_processor().tokenizer.save_pretrained(folder)
    return folder
