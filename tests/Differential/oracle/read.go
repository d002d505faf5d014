package main

// The read-back of the comparison (docs/differential.md, "What is compared"): every file of a cgroup in every
// hierarchy, for the module's cgroups and runc's alike, minus the files compare.psd1 skips and with the lines of its
// AsSet files sorted. It is here, not in PowerShell, only for speed: a run reads tens of thousands of files, which a
// PowerShell loop makes minutes in the TCG guest. The rules come from the caller, so they stay in compare.psd1.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type readHierarchy struct {
	Name  string `json:"name"`  // the key prefix: "memory", "unified", ...
	Mount string `json:"mount"` // its mount point
}

type readInput struct {
	Hierarchies []readHierarchy `json:"hierarchies"`
	Skip        []string        `json:"skip"`  // file name patterns (filepath.Match) not read
	AsSet       []string        `json:"asSet"` // file name patterns whose lines are sorted
	Targets     []probeTarget   `json:"targets"`
}

type readResult struct {
	ID     string            `json:"id"`
	Digest string            `json:"digest"` // sha256 of files as JSON (keys sorted): equal digests, equal files
	Files  map[string]string `json:"files"`  // "<hierarchy>/<file>" -> content; "<hierarchy>/" -> whether the directory exists
}

func readBack(in io.Reader, out io.Writer) error {
	var p readInput
	if err := json.NewDecoder(in).Decode(&p); err != nil {
		return fmt.Errorf("bad read input: %w", err)
	}
	for _, list := range [][]string{p.Skip, p.AsSet} {
		for _, pat := range list {
			if _, err := filepath.Match(pat, ""); err != nil {
				return fmt.Errorf("bad pattern %q: %w", pat, err)
			}
		}
	}
	enc := json.NewEncoder(out)
	for _, t := range p.Targets {
		files := map[string]string{}
		for _, h := range p.Hierarchies {
			dir := h.Mount + t.Path
			entries, err := os.ReadDir(dir)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					files[h.Name+"/"] = "<no directory>"
				} else {
					files[h.Name+"/"] = "<unreadable: " + errText(err) + ">"
				}
				continue
			}
			files[h.Name+"/"] = "<directory>"
			for _, e := range entries {
				name := e.Name()
				if e.IsDir() || matchAny(p.Skip, name) {
					continue
				}
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					files[h.Name+"/"+name] = "<unreadable: " + errText(err) + ">"
					continue
				}
				text := strings.TrimRight(string(data), "\n")
				if matchAny(p.AsSet, name) {
					lines := strings.Split(text, "\n")
					sort.Strings(lines)
					text = strings.Join(lines, "\n")
				}
				files[h.Name+"/"+name] = text
			}
		}
		canonical, err := json.Marshal(files) // encoding/json writes map keys sorted
		if err != nil {
			return err
		}
		sum := sha256.Sum256(canonical)
		if err := enc.Encode(readResult{ID: t.ID, Digest: hex.EncodeToString(sum[:]), Files: files}); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(patterns []string, name string) bool {
	for _, pat := range patterns {
		if ok, _ := filepath.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// errText is the errno's text without the path, the same for both cgroups.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
