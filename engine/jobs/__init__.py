"""Jobs: the taskiq broker, the one task that runs any capability, and the worker loop."""
