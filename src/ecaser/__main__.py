from ecaser.cli import main

main()
