from flashtune._cli import main

main()
