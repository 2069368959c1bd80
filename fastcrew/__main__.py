from fastcrew.cli import main

main()
