print("replace me")
