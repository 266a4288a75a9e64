package cgroupv2

import "os"

// SetReadDir replaces the directory listing every reader uses, to play
// errors a real directory cannot be made to return to root (EMFILE,
// EACCES). It returns a function that puts os.ReadDir back.
func SetReadDir(f func(string) ([]os.DirEntry, error)) (restore func()) {
	old := readDir
	readDir = f
	return func() { readDir = old }
}
