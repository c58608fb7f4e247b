import configparser
import hashlib
import sys

config = configparser.ConfigParser()
config.read("settings.ini")
expected = config["vault"]["passphrase_sha256"]
given = sys.stdin.readline().strip()
if hashlib.sha256(given.encode()).hexdigest() == expected:
    print("FLAG{" + "read-the-config-first" + "}")
else:
    print("access denied")
    sys.exit(1)
