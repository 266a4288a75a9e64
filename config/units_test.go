package config

import (
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string // substring of the error; "" for success
	}{
		{"0", 0, ""},
		{"4096", 4096, ""},
		{"4096B", 4096, ""},
		{"512KiB", 512 << 10, ""},
		{"64MiB", 64 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"2TiB", 2 << 40, ""},
		{"64Mi", 64 << 20, ""},
		{"1Gi", 1 << 30, ""},
		{"1kB", 1000, ""},
		{"100MB", 100e6, ""},
		{"3GB", 3e9, ""},
		{"1TB", 1e12, ""},
		{"1.5GiB", 3 << 29, ""},
		{"0.5KiB", 512, ""},
		{"1.0001KiB", 1024, ""}, // 1024.1024 bytes, rounded down
		{"  64MiB  ", 64 << 20, ""},
		{"64 MiB", 64 << 20, ""},
		{"\t1\tGiB\n", 1 << 30, ""},
		{"16EiB", 0, `unknown unit "EiB"`},
		{"18446744073709551615", math.MaxUint64, ""},
		{"18446744073709551616", 0, "too large"},
		{"99999999999TiB", 0, "too large"},
		{"16777216TiB", 0, "too large"}, // exactly 2^64
		{"16777215.99TiB", 18446742974197923840 + 1088516511498, ""},
		{"", 0, "does not start with a number"},
		{"   ", 0, "does not start with a number"},
		{"MiB", 0, "does not start with a number"},
		{"-1", 0, "must not be negative"},
		{"-64MiB", 0, "must not be negative"},
		{"+64MiB", 0, "not a plain decimal number"},
		{"1.", 0, "not a plain decimal number"},
		{".5MiB", 0, "not a plain decimal number"},
		{"1.2.3MiB", 0, "not a plain decimal number"},
		{"1e3", 0, `unknown unit "e3"`},
		{"0x10", 0, `unknown unit "x10"`},
		{"64M", 0, `unknown unit "M"; use B, KiB`},
		{"64mib", 0, `unknown unit "mib"`},
		{"64KB", 0, `unknown unit "KB"`},
		{"64 MiB extra", 0, `unknown unit "MiB extra"`},
		{strings.Repeat("9", 65), 0, "too many digits"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseSize(%q): %v", tt.in, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseSize(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
}

func TestParseRatio(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"90%", 0.9, ""},
		{"5%", 0.05, ""},
		{"0%", 0, ""},
		{"100%", 1, ""},
		{"12.5%", 0.125, ""},
		{"7%", 0.07, ""},
		{" 90 % ", 0.9, ""},
		{"100.0%", 1, ""},
		{"100.01%", 0, "more than 100%"},
		{"150%", 0, "more than 100%"},
		{"-5%", 0, "must not be negative"},
		{"0.9", 0, `not a percentage; write it with %, like "90%"`},
		{"90", 0, "not a percentage"},
		{"%", 0, "does not start with a number"},
		{"ninety%", 0, "not a plain decimal number"},
		{"9 0%", 0, "not a plain decimal number"},
		{"1e2%", 0, "not a plain decimal number"},
		{"90%%", 0, "not a plain decimal number"},
		{strings.Repeat("1", 65) + "%", 0, "too many digits"},
	}
	for _, tt := range tests {
		got, err := ParseRatio(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseRatio(%q): %v", tt.in, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseRatio(%q) = %v, want %v", tt.in, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseRatio(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    Amount
		wantErr string
	}{
		{"5%", Amount{Ratio: 0.05}, ""},
		{" 50 %", Amount{Ratio: 0.5}, ""},
		{"2GiB", Amount{Bytes: 2 << 30}, ""},
		{"4096", Amount{Bytes: 4096}, ""},
		{"200%", Amount{}, "more than 100%"},
		{"-5%", Amount{}, "must not be negative"},
		{"-1GiB", Amount{}, "must not be negative"},
		{"2G", Amount{}, `unknown unit "G"`},
		{"lots", Amount{}, `or a percentage like "5%"`},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseAmount(%q): %v", tt.in, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseAmount(%q) = %+v, want %+v", tt.in, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseAmount(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
}

func TestAmountOf(t *testing.T) {
	tests := []struct {
		a     Amount
		total uint64
		want  uint64
	}{
		{Amount{Ratio: 0.05}, 1000, 50},
		{Amount{Ratio: 0.5}, 16 << 30, 8 << 30},
		{Amount{Ratio: 1}, math.MaxUint64, math.MaxUint64},
		{Amount{Ratio: 0.5}, math.MaxUint64, 1 << 63},
		{Amount{Bytes: 4096}, 1 << 30, 4096},
		{Amount{}, 1 << 30, 0},
	}
	for _, tt := range tests {
		if got := tt.a.Of(tt.total); got != tt.want {
			t.Errorf("%+v.Of(%d) = %d, want %d", tt.a, tt.total, got, tt.want)
		}
	}
}

func TestAmountText(t *testing.T) {
	for _, s := range []string{"5%", "12.5%", "7%", "100%", "32MiB", "1000B", "0B", "3GiB"} {
		a, err := ParseAmount(s)
		if err != nil {
			t.Fatalf("ParseAmount(%q): %v", s, err)
		}
		if got := a.String(); got != s {
			t.Errorf("ParseAmount(%q).String() = %q", s, got)
		}
		var b Amount
		if err := b.UnmarshalText([]byte(s)); err != nil || b != a {
			t.Errorf("UnmarshalText(%q) = %+v, %v; want %+v", s, b, err, a)
		}
	}
	if err := new(Amount).UnmarshalText([]byte("lots")); err == nil {
		t.Error("UnmarshalText(lots) succeeded")
	}
}

func TestFormatSize(t *testing.T) {
	tests := map[uint64]string{
		0: "0B", 1: "1B", 1000: "1000B", 1024: "1KiB", 1536: "1536B",
		32 << 20: "32MiB", 1 << 60: "1EiB", math.MaxUint64: "18446744073709551615B",
	}
	for n, want := range tests {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
