"""Print the zoo's table from the cards, as the README shows it: `python scripts/zoo_table.py`."""

from kerasgen import zoo

if __name__ == "__main__":
    print(zoo.table())
