"""The built-in genre presets: each one is a :class:`Recipe`, the same data users may send.

Levels assume the track was first brought to -20 LUFS (the pipeline does that), so
compressor thresholds and drive amounts behave alike on quiet and loud uploads.
Third-party plugins add genres the same way, from their own ``register_genres`` hook.
"""

from __future__ import annotations

from moodmix.engine.capability import Genre
from moodmix.plugins.remix.recipe import (
    Bitcrush,
    Chorus,
    Compressor,
    Delay,
    Distortion,
    DrumPattern,
    Gain,
    HighpassFilter,
    HighShelfFilter,
    LowpassFilter,
    LowShelfFilter,
    PeakFilter,
    Phaser,
    Recipe,
    Resample,
    Reverb,
    Sidechain,
    Stems,
    StemSettings,
)

GLUE = Compressor(threshold_db=-18, ratio=2.0, attack_ms=20, release_ms=200)

LOFI = Recipe(
    tempo=80, pitch_semitones=-1,
    stems=Stems(
        drums=StemSettings(gain_db=-7, effects=[LowpassFilter(cutoff_frequency_hz=3500),
                                                Bitcrush(bit_depth=10)]),
        bass=StemSettings(gain_db=1, effects=[LowpassFilter(cutoff_frequency_hz=900)]),
        vocals=StemSettings(gain_db=-2, effects=[
            HighpassFilter(cutoff_frequency_hz=200), LowpassFilter(cutoff_frequency_hz=5000),
            Reverb(room_size=0.35, wet_level=0.2, dry_level=0.9)]),
        other=StemSettings(effects=[
            Chorus(rate_hz=0.6, depth=0.15, centre_delay_ms=12, mix=0.4),
            LowpassFilter(cutoff_frequency_hz=4500), Reverb(room_size=0.4, wet_level=0.2, dry_level=0.9)]),
    ),
    drums=DrumPattern(kit="lofi", kick="X......x..x.....", snare="....X.......X...",
                      hat="x.x.x.x.x.x.x.x.", level_db=-4, swing=0.25),
    master=[LowShelfFilter(cutoff_frequency_hz=120, gain_db=2),
            HighShelfFilter(cutoff_frequency_hz=5000, gain_db=-4),
            Compressor(threshold_db=-20, ratio=3, attack_ms=15, release_ms=250)],
)

HOUSE = Recipe(
    tempo=124,
    stems=Stems(
        drums=StemSettings(gain_db=-8),
        bass=StemSettings(effects=[HighpassFilter(cutoff_frequency_hz=35),
                                   Compressor(threshold_db=-24, ratio=4, attack_ms=10, release_ms=120)]),
        vocals=StemSettings(effects=[Delay(beats=0.75, feedback=0.25, mix=0.15),
                                     Reverb(room_size=0.3, wet_level=0.15, dry_level=0.9)]),
        other=StemSettings(effects=[HighpassFilter(cutoff_frequency_hz=150)]),
    ),
    drums=DrumPattern(kit="909", kick="X...X...X...X...", clap="....X.......X...",
                      hat="xxxxxxxxxxxxxxxx", open_hat="..X...X...X...X.", level_db=-2,
                      sidechain=Sidechain(depth_db=6, release_ms=180)),
    master=[HighpassFilter(cutoff_frequency_hz=30), LowShelfFilter(cutoff_frequency_hz=90, gain_db=1.5),
            Compressor(threshold_db=-16, ratio=2.5, attack_ms=10, release_ms=150)],
)

TRAP = Recipe(
    tempo=140, pitch_semitones=-1,
    stems=Stems(
        drums=StemSettings(gain_db=-10),
        bass=StemSettings(gain_db=1, effects=[LowShelfFilter(cutoff_frequency_hz=80, gain_db=3),
                                              Distortion(drive_db=8)]),
        vocals=StemSettings(effects=[HighpassFilter(cutoff_frequency_hz=150),
                                     Compressor(threshold_db=-22, ratio=4, attack_ms=5, release_ms=100),
                                     Delay(beats=0.5, feedback=0.2, mix=0.12),
                                     Reverb(room_size=0.25, wet_level=0.15, dry_level=0.9)]),
        other=StemSettings(effects=[LowpassFilter(cutoff_frequency_hz=8000),
                                    Reverb(room_size=0.4, wet_level=0.25, dry_level=0.85)]),
    ),
    drums=DrumPattern(kit="808", kick="X......X..X.....", snare="........X.......", clap="........X.......",
                      hat="x.x.x.x.x.x.xxxx", level_db=-2, sidechain=Sidechain(depth_db=4, release_ms=250)),
    master=[HighpassFilter(cutoff_frequency_hz=25), Compressor(threshold_db=-18, ratio=3, attack_ms=5,
                                                               release_ms=120)],
)

DRUM_AND_BASS = Recipe(
    tempo=174,
    stems=Stems(
        drums=StemSettings(gain_db=-12),
        bass=StemSettings(effects=[Distortion(drive_db=12), LowpassFilter(cutoff_frequency_hz=2500),
                                   Compressor(threshold_db=-24, ratio=4, attack_ms=5, release_ms=80)]),
        vocals=StemSettings(effects=[HighpassFilter(cutoff_frequency_hz=200),
                                     Delay(beats=0.75, feedback=0.35, mix=0.2),
                                     Reverb(room_size=0.5, wet_level=0.2, dry_level=0.9)]),
        other=StemSettings(effects=[HighpassFilter(cutoff_frequency_hz=120), Phaser(rate_hz=0.3, mix=0.3),
                                    Reverb(room_size=0.5, wet_level=0.25, dry_level=0.85)]),
    ),
    drums=DrumPattern(kit="breaks", kick="X.........X.....", snare="....X.......X...",
                      hat="x.x.x.x.x.x.x.x.", open_hat="..............x.", level_db=-2,
                      sidechain=Sidechain(depth_db=3, release_ms=100)),
    master=[HighpassFilter(cutoff_frequency_hz=30), Compressor(threshold_db=-16, ratio=3, attack_ms=5,
                                                               release_ms=100)],
)

SYNTHWAVE = Recipe(
    tempo=100,
    stems=Stems(
        drums=StemSettings(gain_db=-6),
        bass=StemSettings(effects=[Chorus(rate_hz=0.4, depth=0.2, mix=0.3)]),
        vocals=StemSettings(effects=[Chorus(rate_hz=0.8, depth=0.2, mix=0.25),
                                     Delay(beats=0.5, feedback=0.3, mix=0.18),
                                     Reverb(room_size=0.6, wet_level=0.3, dry_level=0.85)]),
        other=StemSettings(effects=[Chorus(rate_hz=0.5, depth=0.35, mix=0.5),
                                    LowpassFilter(cutoff_frequency_hz=9000),
                                    Reverb(room_size=0.7, wet_level=0.3, dry_level=0.8)]),
    ),
    drums=DrumPattern(kit="909", kick="X...X...X...X...", snare="....X.......X...", hat="x.x.x.x.x.x.x.x.",
                      level_db=-3, sidechain=Sidechain(depth_db=3, release_ms=200),
                      effects=[Reverb(room_size=0.7, wet_level=0.25, dry_level=0.9)]),
    master=[HighpassFilter(cutoff_frequency_hz=30), LowShelfFilter(cutoff_frequency_hz=100, gain_db=2),
            HighShelfFilter(cutoff_frequency_hz=8000, gain_db=1.5), GLUE],
)

REGGAETON = Recipe(
    tempo=95,
    stems=Stems(
        drums=StemSettings(gain_db=-8),
        bass=StemSettings(effects=[LowShelfFilter(cutoff_frequency_hz=70, gain_db=3),
                                   Compressor(threshold_db=-24, ratio=3, attack_ms=10, release_ms=120)]),
        vocals=StemSettings(effects=[Compressor(threshold_db=-22, ratio=3, attack_ms=5, release_ms=120),
                                     Delay(beats=0.5, feedback=0.15, mix=0.1),
                                     Reverb(room_size=0.3, wet_level=0.15, dry_level=0.9)]),
        other=StemSettings(effects=[HighpassFilter(cutoff_frequency_hz=120)]),
    ),
    # The dembow: kick on every beat, snare on the 4th, 7th, 12th and 15th 16th. Accented
    # quarter-note hats keep the pulse at 95: with loud snares its 3-3-2 grouping reads as 127 BPM.
    drums=DrumPattern(kit="808", kick="X...X...X...X...", snare="...x..x....x..x.", hat="X.x.X.x.X.x.X.x.",
                      level_db=-2, sidechain=Sidechain(depth_db=3, release_ms=120)),
    master=[HighpassFilter(cutoff_frequency_hz=30), Compressor(threshold_db=-16, ratio=2.5, attack_ms=10,
                                                               release_ms=150)],
)

CHIPTUNE = Recipe(
    tempo=150,
    stems=Stems(
        drums=StemSettings(gain_db=-10),
        bass=StemSettings(effects=[Resample(target_sample_rate=11025), Bitcrush(bit_depth=7)]),
        vocals=StemSettings(effects=[Resample(target_sample_rate=16000), Bitcrush(bit_depth=9)]),
        other=StemSettings(effects=[Resample(target_sample_rate=11025), Bitcrush(bit_depth=8),
                                    Gain(gain_db=-1)]),
    ),
    drums=DrumPattern(kit="chip", kick="X...X...X...X...", snare="....X.......X...", hat="x.x.x.x.x.x.x.x.",
                      level_db=-3),
    master=[HighpassFilter(cutoff_frequency_hz=40), LowpassFilter(cutoff_frequency_hz=12000),
            Compressor(threshold_db=-14, ratio=3, attack_ms=5, release_ms=100)],
)

ACOUSTIC = Recipe(
    tempo_ratio=0.95,
    stems=Stems(
        drums=StemSettings(gain_db=-10, effects=[LowpassFilter(cutoff_frequency_hz=6000)]),
        bass=StemSettings(gain_db=-2, effects=[LowpassFilter(cutoff_frequency_hz=1500)]),
        vocals=StemSettings(effects=[Compressor(threshold_db=-22, ratio=2.5, attack_ms=10, release_ms=150),
                                     PeakFilter(cutoff_frequency_hz=3000, gain_db=2, q=1),
                                     Reverb(room_size=0.5, wet_level=0.22, dry_level=0.9)]),
        other=StemSettings(effects=[LowpassFilter(cutoff_frequency_hz=9000),
                                    Reverb(room_size=0.6, wet_level=0.25, dry_level=0.85)]),
    ),
    drums=DrumPattern(kit="acoustic", kick="X.......x.......", snare="....x.......x...",
                      hat="x.xxx.xxx.xxx.xx", level_db=-8),
    master=[HighpassFilter(cutoff_frequency_hz=35), HighShelfFilter(cutoff_frequency_hz=10000, gain_db=1),
            Compressor(threshold_db=-18, ratio=1.8, attack_ms=25, release_ms=250)],
)

SLOWED_REVERB = Recipe(
    tempo_ratio=0.8, varispeed=True,
    master=[LowShelfFilter(cutoff_frequency_hz=100, gain_db=2), LowpassFilter(cutoff_frequency_hz=10000),
            Reverb(room_size=0.85, damping=0.6, wet_level=0.35, dry_level=0.75)],
)

NIGHTCORE = Recipe(
    tempo_ratio=1.25, varispeed=True,
    stems=Stems(vocals=StemSettings(gain_db=1)),
    master=[HighpassFilter(cutoff_frequency_hz=40), HighShelfFilter(cutoff_frequency_hz=6000, gain_db=2),
            GLUE],
)

GENRES: list[Genre] = [
    Genre("lofi", "Lo-fi hip hop: 80 BPM, a semitone down, dusty swung drums, tape wobble, muffled highs.",
          LOFI, aliases=("lo-fi", "lofi hip hop", "chillhop")),
    Genre("house", "House: 124 BPM four-on-the-floor kick, claps, open hats, sidechain pumping.", HOUSE,
          aliases=("deep house",)),
    Genre("trap", "Trap: 140 BPM half-time 808s, rolling hats, distorted bass, a semitone down.", TRAP),
    Genre("drum-and-bass", "Drum & bass: 174 BPM breakbeat, driven bass, wide delays.", DRUM_AND_BASS,
          aliases=("dnb", "drum & bass", "drum and bass", "drum n bass", "d&b")),
    Genre("synthwave", "Synthwave: 100 BPM, chorused synths, gated-reverb drums, 80s sheen.", SYNTHWAVE,
          aliases=("retrowave", "outrun")),
    Genre("reggaeton", "Reggaeton: 95 BPM dembow rhythm, heavy low end.", REGGAETON, aliases=("dembow",)),
    Genre("chiptune", "Chiptune: 150 BPM, downsampled and bit-crushed like an 8-bit console.", CHIPTUNE,
          aliases=("8-bit", "8bit", "chip")),
    Genre("acoustic", "Acoustic: a touch slower, soft kit and shaker, warm room reverb.", ACOUSTIC,
          aliases=("unplugged",)),
    Genre("slowed-reverb", "Slowed + reverb: 80 % speed with the pitch, drenched in reverb.", SLOWED_REVERB,
          aliases=("slowed + reverb", "slowed and reverb", "slowed")),
    Genre("nightcore", "Nightcore: 125 % speed with the pitch, brighter and tighter.", NIGHTCORE,
          aliases=("sped up",)),
]
