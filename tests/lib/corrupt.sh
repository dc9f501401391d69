# corrupt.sh: corrupt_byte FILE OFFSET changes the byte at OFFSET of FILE
# to another, whatever it was (a fixed byte written there leaves the
# file as it was once in 256 runs).
corrupt_byte() {
	python3 -c 'import sys
f = open(sys.argv[1], "r+b")
f.seek(int(sys.argv[2]))
b = f.read(1)[0]
f.seek(-1, 1)
f.write(bytes([b ^ 0xff]))' "$1" "$2"
}
