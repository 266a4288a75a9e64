// Package suggest finds the nearest of some valid words to a mistyped one:
// the "did you mean" of the config file's keys and of the command line's
// commands.
package suggest

import "strings"

// MaxEdits is how far a word may be from the one it is taken for.
const MaxEdits = 2

// Nearest returns the valid word nearest to word (compared in lower case),
// if one is within MaxEdits; the first of equally near ones.
func Nearest(word string, valid []string) (string, bool) {
	best, bestDist := "", MaxEdits+1
	for _, v := range valid {
		if d := Distance(strings.ToLower(word), v); d < bestDist {
			best, bestDist = v, d
		}
	}
	return best, best != ""
}

// Distance is the Levenshtein distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev = cur
	}
	return prev[len(b)]
}
