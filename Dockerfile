# moodmix image: API, workers and bots all run from it (the command picks the role).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libsndfile1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install --no-cache-dir .
ENV MOODMIX_DATA_DIR=/data HF_HOME=/models/hf
VOLUME ["/data", "/models"]
EXPOSE 8000
CMD ["moodmix", "serve", "--host", "0.0.0.0", "--port", "8000"]
