package state

import (
	"fmt"
	"time"
)

// memoryBackend keeps the state in memory and hands every saved version to onSave: in
// Singer mode the orchestrator (Meltano) owns the state, so a checkpoint becomes a STATE
// message rather than a file. Child streams' line indexes still need durable storage of
// their own: they live in indexDir.
type memoryBackend struct {
	indexDir string
	onSave   func(File) error
}

func (m *memoryBackend) save(f *File, hook func(string) error) error {
	if m.onSave == nil {
		return nil
	}
	return m.onSave(f.clone())
}

func (m *memoryBackend) release(*File, func(string) error) error { return nil }

func (m *memoryBackend) stop() {}

func (m *memoryBackend) lineIndex(stream string) *LineIndex {
	return &LineIndex{dir: m.indexDir, stream: stream}
}

// OpenMemory returns a Store that holds initial (nil: empty) in memory, takes no lock and
// writes no file: each save calls onSave with a copy of the new contents, and a save
// whose onSave fails is not applied. Line indexes are files in indexDir. accountID is
// checked as Open checks it.
func OpenMemory(initial *File, accountID, indexDir string, onSave func(File) error) (*Store, error) {
	f := &File{Version: Version, Streams: map[string]Stream{}}
	if initial != nil {
		c := initial.clone()
		f = &c
		if f.Version == 0 {
			f.Version = Version
		}
		if f.Streams == nil {
			f.Streams = map[string]Stream{}
		}
		if f.Version > Version {
			return nil, &stateError{msg: fmt.Sprintf("the Singer state (--state) was written by a newer extract (version %d; this extract understands version %d)", f.Version, Version), kind: ErrVersion}
		}
		for name, st := range f.Streams {
			if err := st.validate(); err != nil {
				return nil, &stateError{msg: fmt.Sprintf("the Singer state (--state): bookmark %q: %v", name, err), kind: ErrCorrupt, cause: err}
			}
			f.Streams[name] = st.utc()
		}
	}
	if err := adoptAccount(f, "the Singer state", accountID); err != nil {
		return nil, err
	}
	return newStore("(singer state)", "the Singer state", &memoryBackend{indexDir: indexDir, onSave: onSave}, f, time.Now), nil
}
