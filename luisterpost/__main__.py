from luisterpost.cli import main

main()
