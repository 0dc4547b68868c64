"""Print the README's table of binding ids (the [keys] table's names), from the bindings themselves.

python scripts/keys_table.py
"""

from __future__ import annotations

from kms_connect.ui.keymap import known_bindings


def main() -> None:
    print("| Id | Default keys | Action |")
    print("|---|---|---|")
    for info in sorted(known_bindings().values(), key=lambda i: i.binding_id):
        keys = " ".join(f"`{key}`" for key in info.keys.split(","))
        what = info.description or "(hidden)"
        print(f"| `{info.binding_id}` | {keys} | {what} |")


if __name__ == "__main__":
    main()
