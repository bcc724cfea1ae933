from espace_common.launch import main

main("canteen")
