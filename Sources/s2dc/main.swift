// The s2dc command-line tool.
print("s2dc")
