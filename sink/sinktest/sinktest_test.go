package sinktest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestGlobListsTheRunLayoutInOrder(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		"customer/dt=2026-12-02/run=B/part-000002.parquet",
		"customer/dt=2026-12-02/run=B/part-000001.parquet",
		"customer/dt=2026-12-01/run=A/part-000001.parquet",
		"customer/dt=2026-12-02/run=B/_SUCCESS",
		"task/dt=2026-12-02/run=B/part-000001.parquet",
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Glob(root, "customer", "*.parquet")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(root, "customer/dt=2026-12-01/run=A/part-000001.parquet"),
		filepath.Join(root, "customer/dt=2026-12-02/run=B/part-000001.parquet"),
		filepath.Join(root, "customer/dt=2026-12-02/run=B/part-000002.parquet"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Glob = %v, want %v", got, want)
	}
	if all, _ := Glob(root, "*", "part-*"); len(all) != 4 {
		t.Errorf("every stream: %d files, want 4", len(all))
	}
}

func TestRunIDsSortInCreationOrder(t *testing.T) {
	ids := []string{RunID(), RunID(), RunID()}
	if !slices.IsSorted(ids) || ids[0] == ids[1] {
		t.Errorf("run ids %v do not sort in creation order", ids)
	}
}
