from posecheck.cli import main

main()
