"""Engine settings for the bot tests: a temp data folder, a test secret, fast retries."""

from __future__ import annotations

from pathlib import Path

PUBLIC_URL = "http://moodmix.test"


def engine_env(data_dir: Path) -> dict[str, str]:
    return {"MOODMIX_DATA_DIR": str(data_dir), "MOODMIX_SECRET_KEY": "bot-tests-secret-key-0123456789abcdef",
            "MOODMIX_LOG_LEVEL": "WARNING", "MOODMIX_PUBLIC_URL": PUBLIC_URL, "MOODMIX_RATE_LIMIT": "100000",
            "MOODMIX_RETRY_BACKOFF_S": "0.1", "MOODMIX_JOB_RETRIES": "1"}
