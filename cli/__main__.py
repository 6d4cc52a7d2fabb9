from kerasgen.cli import main

main()
