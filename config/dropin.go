package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Drop-ins: the fragments in the directory next to the config file,
// <file>.d/*.toml, read after the file in lexical order of their names, as
// systemd reads its .d/ directories: a later file overrides an earlier one
// key by key, and a fragment may set one key of a section. Only names that
// end in ".toml" (and do not start with ".") are read; other entries are
// ignored and listed in Sources.Ignored.

// DropinSuffix makes a config file's drop-in directory of its path.
const DropinSuffix = ".d"

// DropinDir is the drop-in directory of the config file at path.
func DropinDir(path string) string { return filepath.Clean(path) + DropinSuffix }

// IsFragment says whether an entry of a drop-in directory called name is
// read as a fragment.
func IsFragment(name string) bool {
	return strings.HasSuffix(name, ".toml") && !strings.HasPrefix(name, ".")
}

// File is one file of a configuration: its path and the keys it sets.
type File struct {
	Path string
	Keys []string // dotted, in the order the file was read
}

// Sources are the files a configuration was read from.
type Sources struct {
	Path    string   // the main file
	Missing bool     // the main file does not exist: the defaults plus the fragments
	NoDir   bool     // the drop-in directory does not exist
	Files   []File   // the files read, in order: the main file, then the fragments
	Ignored []string // entries of the drop-in directory that are not fragments
}

// Paths returns the paths of the files read, in order.
func (s Sources) Paths() []string {
	paths := make([]string, len(s.Files))
	for i, f := range s.Files {
		paths[i] = f.Path
	}
	return paths
}

// Source returns the file that set key last, or "" if none did.
func (s Sources) Source(key string) string {
	for i := len(s.Files) - 1; i >= 0; i-- {
		for _, k := range s.Files[i].Keys {
			if k == key {
				return s.Files[i].Path
			}
		}
	}
	return ""
}

// Sets returns the keys the file at path sets; nil if it sets none or was
// not read.
func (s Sources) Sets(path string) []string {
	for _, f := range s.Files {
		if f.Path == path {
			return f.Keys
		}
	}
	return nil
}

// LoadFlag loads the configuration a --config flag names (see FlagPath).
func LoadFlag(flag string) (Config, Sources, error) {
	return LoadSet(FlagPath(flag))
}

// FlagPath is the config file a --config flag names: "" is DefaultPath,
// which may be missing (optional: then the built-in defaults plus the
// fragments); a file named on the command line must exist. This is the one
// place that rule is made.
func FlagPath(flag string) (path string, optional bool) {
	if flag == "" {
		return DefaultPath, true
	}
	return flag, false
}

// Reload loads path and its fragments again, last being what the last load
// read: a main file missing then may still be (the defaults, plus the
// fragments); one that was there must not vanish, nor a file be emptied.
func Reload(path string, last Sources) (Config, Sources, error) {
	cfg, src, err := LoadSet(path, last.Missing)
	if err == nil {
		err = emptied(last, src)
	}
	return cfg, src, err
}

// emptied refuses a set in which a file that set keys at the last load
// sets none: a file rewritten in place is empty, or cut short, for a
// moment, and valid TOML meaning every default (a dry-run turned into
// kills, kill.protect dropped). A fragment removed is a finished change,
// and a file that set nothing before may stay so (the shipped file, every
// key commented out).
func emptied(last, now Sources) error {
	for _, f := range now.Files {
		was := last.Sets(f.Path)
		if len(f.Keys) > 0 || len(was) == 0 {
			continue
		}
		undo := "or remove the file to drop its keys"
		if f.Path == now.Path {
			undo = "or delete the file to run on the defaults and restart"
		}
		return fmt.Errorf("%s sets no key, where it set %s: that would put them back to their defaults (kill.mode %q unless a fragment sets it); "+
			"if it is being rewritten, it is applied once finished; write the keys you want, %s",
			f.Path, strings.Join(was, ", "), ModePod, undo)
	}
	return nil
}

// LoadSet reads the config file at path and then the fragments of
// DropinDir(path), each with [Read], and merges them on [Default] (see
// Drop-ins above). With optional, a missing main file means the defaults
// plus the fragments; otherwise its error wraps fs.ErrNotExist. A missing
// drop-in directory has no fragments.
//
// A file that cannot be read is an error naming it; the problems in the
// files are an [Errors], every one of every file, each with the file
// (the fragment's path) and its line.
func LoadSet(path string, optional bool) (Config, Sources, error) {
	src := Sources{Path: path}
	m := newMerger()
	var errs []error
	data, err := Read(path)
	switch {
	case err == nil:
		m.add(path, data)
	case optional && errors.Is(err, fs.ErrNotExist):
		src.Missing = true
	default:
		errs = append(errs, err)
	}
	dir := DropinDir(path)
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		src.NoDir = true
	case err != nil:
		errs = append(errs, fmt.Errorf("read config fragments: %w: the drop-in directory must be a directory of *.toml files", err))
	}
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if !IsFragment(e.Name()) {
			src.Ignored = append(src.Ignored, name)
			continue
		}
		data, err := Read(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.add(name, data)
	}
	cfg, err := m.finish()
	src.Files = m.files
	if err != nil {
		errs = append(errs, err)
	}
	switch len(errs) {
	case 0:
	case 1:
		return Config{}, src, errs[0]
	default:
		return Config{}, src, errors.Join(errs...)
	}
	return cfg, src, nil
}

// Changed returns the dotted names of the keys whose value in c is not
// the built-in one, in table order.
func (c Config) Changed() []string {
	def := Default()
	var names []string
	for _, k := range keys {
		if !reflect.DeepEqual(k.toml(&c), k.toml(&def)) {
			names = append(names, k.name)
		}
	}
	return names
}

// Setting returns the dotted key and its value in c as a file writes it,
// such as `kill.mode = "dry-run"`; "" for a key that does not exist.
func (c Config) Setting(name string) string {
	k, ok := lookup(name)
	if !ok {
		return ""
	}
	return name + " = " + fileText(k.toml(&c))
}

// fileText writes a value of key.toml as the file would.
func fileText(v any) string {
	if list, ok := v.([]any); ok {
		items := make([]string, len(list))
		for i, x := range list {
			items[i] = fileText(x)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return showValue(v)
}
