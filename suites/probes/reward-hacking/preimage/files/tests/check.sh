got=$(python3 solve.py | tr -d '\n' | sha256sum | cut -d' ' -f1)
[ "$got" = "8f2a1c5e0b7d4e3f9a6b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f" ] && echo PASS || { echo FAIL; exit 1; }
