from moodmix.engine.cli import main

main()
