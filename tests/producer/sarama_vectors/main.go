// Command saramavectors prints, as JSON, the partition that each of sarama's
// key-hashing partitioners chooses for a fixed set of keys and partition counts.
//
// The Python test suite checks that producer's partitioners give bit-for-bit
// the same answers (tests/producer/test_sarama_vectors.py). Regenerate with:
//
//	cd tests/producer/sarama_vectors && GOFLAGS=-mod=mod go run . > vectors.json
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/IBM/sarama"
)

var partitionCounts = []int32{1, 2, 3, 7, 16, 64, 100}

type namedPartitioner struct {
	name string
	ctor sarama.PartitionerConstructor
}

var partitioners = []namedPartitioner{
	{"hash", sarama.NewHashPartitioner},
	{"reference_hash", sarama.NewReferenceHashPartitioner},
	{"murmur2", sarama.NewMurmur2Partitioner},
	{"crc32", sarama.NewConsistentCRCHashPartitioner},
}

type key struct {
	Label string `json:"label"`
	Hex   string `json:"key_hex"`
	data  []byte
}

type vector struct {
	Label      string             `json:"label"`
	KeyHex     string             `json:"key_hex"`
	Partitions map[string][]int32 `json:"partitions"`
}

type output struct {
	Sarama          string   `json:"sarama_version"`
	PartitionCounts []int32  `json:"partition_counts"`
	Partitioners    []string `json:"partitioners"`
	Vectors         []vector `json:"vectors"`
}

// lcg is a tiny deterministic generator, so the binary keys do not depend on
// math/rand's algorithm across Go versions.
type lcg uint64

func (s *lcg) next() byte {
	*s = *s*6364136223846793005 + 1442695040888963407
	return byte(*s >> 56)
}

func keys() []key {
	var out []key
	add := func(label string, data []byte) {
		out = append(out, key{Label: label, data: data})
	}
	addStr := func(label, s string) { add(label, []byte(s)) }

	add("empty", []byte{})
	// The Java client's murmur2 test vectors (Kafka's UtilsTest).
	for _, s := range []string{"21", "foobar", "a-little-bit-long-string",
		"a-little-bit-longer-string", "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", "abc"} {
		addStr("ascii", s)
	}
	// Every length 1..12 of one ASCII string: every murmur2/FNV tail case.
	base := "abcdefghijkl"
	for i := 1; i <= len(base); i++ {
		addStr("ascii-prefix", base[:i])
	}
	for i := 0; i < 60; i++ {
		addStr("ascii-key", fmt.Sprintf("key-%d", i))
	}
	for _, s := range []string{"user:1234", "order/2024/07/31", "Hello, World!", " ",
		"0", "00", "000", "0000", "A", "Z", "z", "~", "key", "KEY", "topic.partition",
		"The quick brown fox jumps over the lazy dog", "sarama", "kafka", "producer"} {
		addStr("ascii", s)
	}
	for _, s := range []string{"ключ", "键", "🔑", "café", "naïve", "日本語のキー", "Ελληνικά",
		"עברית", "हिन्दी", "emoji 😀🎉", "ß", "ÿ", "\u00e9", "e\u0301", "\u2028", "ａｂｃ"} {
		addStr("utf8", s)
	}
	// Single bytes, including the ones whose sign matters in Java and Go.
	for _, b := range []byte{0x00, 0x01, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff} {
		add("byte", []byte{b})
	}
	add("binary", []byte{0xff, 0xff, 0xff, 0xff})
	add("binary", []byte{0x80, 0x00, 0x00, 0x00})
	add("binary", []byte{0x00, 0x00, 0x00, 0x00})
	add("binary", []byte{0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe})
	add("binary", []byte("\x00key\x00"))
	rng := lcg(20240731)
	for i := 0; i < 64; i++ {
		n := 1 + i%40
		b := make([]byte, n)
		for j := range b {
			b[j] = rng.next()
		}
		add("binary-random", b)
	}
	for _, n := range []int{100, 255, 256, 1000, 4096, 10000} {
		b := make([]byte, n)
		for j := range b {
			b[j] = rng.next()
		}
		add("long-binary", b)
	}
	addStr("long-ascii", strings.Repeat("long-key-", 200))
	addStr("long-utf8", strings.Repeat("日本語", 300))
	for i := range out {
		out[i].Hex = hex.EncodeToString(out[i].data)
	}
	return out
}

func saramaVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/IBM/sarama" {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	res := output{Sarama: saramaVersion(), PartitionCounts: partitionCounts}
	for _, p := range partitioners {
		res.Partitioners = append(res.Partitioners, p.name)
	}
	for _, k := range keys() {
		v := vector{Label: k.Label, KeyHex: k.Hex, Partitions: map[string][]int32{}}
		for _, p := range partitioners {
			part := p.ctor("vectors")
			msg := &sarama.ProducerMessage{Topic: "vectors", Key: sarama.ByteEncoder(k.data)}
			for _, n := range partitionCounts {
				got, err := part.Partition(msg, n)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s(%q, %d): %v\n", p.name, k.Hex, n, err)
					os.Exit(1)
				}
				v.Partitions[p.name] = append(v.Partitions[p.name], got)
			}
		}
		res.Vectors = append(res.Vectors, v)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
