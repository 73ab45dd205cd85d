"""Tools that make and score mood models, kept apart from the capability that uses one.

- :mod:`.synth` and :mod:`.voices` render the labelled synthetic corpus (training and held-out pools);
- :mod:`.dataset` turns audio into window rows and runs cross-validation and scoring
  (``moodmix mood train/eval``);
- :mod:`.train_shipped` reproduces ``shipped_model.joblib``
  (``python -m moodmix.plugins.mood.training.train_shipped``).

Nothing here is imported when a mood job runs.
"""
