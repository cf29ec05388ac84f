from irkit._cli import main

main()
