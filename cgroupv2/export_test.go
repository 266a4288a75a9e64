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

// SetTryTrigger replaces ProbeFeatures' trial PSI trigger, to play the
// kernel's answers. It returns a function that puts the real one back.
func SetTryTrigger(f func(path string) error) (restore func()) {
	old := tryTrigger
	tryTrigger = f
	return func() { tryTrigger = old }
}
