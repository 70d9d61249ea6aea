// Command sarama_perf: the peers benchmark's sarama contender (benchmarks/peers.py builds
// and runs it).
//
// It sends -messages messages of -size bytes (no key) through sarama's AsyncProducer
// with sarama's defaults, acks=-acks and Return.Successes=true, drains Successes() and
// Errors() in one goroutine, and prints one JSON object on stdout: throughput and
// per-message latency (send on Input() to receipt on Successes(); the send time
// rides in the message's Metadata). Timing starts at the first send and ends when
// the last result has been received, as for the Python contenders. -warmup messages are
// sent and acknowledged before the clock starts (connections and metadata are then ready).
// -throughput N paces the sends: message i leaves no earlier than i/N seconds after the
// first (a fixed-rate latency run; 0, the default, sends as fast as Input() takes them).
//
//	sarama_perf -brokers 127.0.0.1:9092 -topic t [-messages 200000] [-size 100] [-acks 1] [-warmup 0] [-throughput 0]
//
// Exit codes as sarama's kafka-producer-performance: 64 usage, 69 runtime failure.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

type result struct {
	Client     string             `json:"client"`
	Version    string             `json:"version"`
	GoVersion  string             `json:"go_version"`
	GoMaxProcs int                `json:"gomaxprocs"`
	Messages   int                `json:"messages"`
	Size       int                `json:"size"`
	Succeeded  int                `json:"succeeded"`
	Failed     int                `json:"failed"`
	FirstError string             `json:"first_error,omitempty"`
	ElapsedS   float64            `json:"elapsed_s"`
	MsgPerS    float64            `json:"msg_per_s"`
	MiBPerS    float64            `json:"mib_per_s"`
	CPUPerMsg  float64            `json:"cpu_us_per_msg"`
	LatencyMs  map[string]float64 `json:"latency_ms"`
	LatencyPer string             `json:"latency_per"`
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ERROR: %s\n", fmt.Sprintf(format, args...))
	os.Exit(code)
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

// cpuSeconds: user+system CPU of the whole process (every thread) so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// percentile: the value at rank floor(q*n) of the sorted data (the Python side's rule).
func percentile(sorted []float64, q float64) float64 {
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func main() {
	brokers := flag.String("brokers", "", "REQUIRED: comma-separated broker addresses")
	topic := flag.String("topic", "", "REQUIRED: an existing topic")
	messages := flag.Int("messages", 200000, "messages to send")
	size := flag.Int("size", 100, "value size in bytes")
	acks := flag.Int("acks", 1, "required acks (-1 all, 0 none, 1 leader)")
	partitioner := flag.String("partitioner", "hash", "hash (sarama's default), random or roundrobin")
	warmup := flag.Int("warmup", 0, "messages sent and acknowledged before the clock starts")
	throughput := flag.Float64("throughput", 0, "messages per second (0: as fast as possible)")
	flag.Parse()
	if *brokers == "" || *topic == "" || *messages <= 0 || *size < 0 || *warmup < 0 ||
		*throughput < 0 {
		fmt.Fprintln(os.Stderr, "ERROR: -brokers, -topic and -messages > 0 are required")
		flag.PrintDefaults()
		os.Exit(64)
	}

	config := sarama.NewConfig() // sarama's defaults: Version 2.8, MaxOpenRequests 5, no linger
	config.Producer.RequiredAcks = sarama.RequiredAcks(*acks)
	config.Producer.Return.Successes = true
	switch *partitioner {
	case "hash":
		config.Producer.Partitioner = sarama.NewHashPartitioner
	case "random":
		config.Producer.Partitioner = sarama.NewRandomPartitioner
	case "roundrobin":
		config.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	default:
		fail(64, "unknown -partitioner %q", *partitioner)
	}
	producer, err := sarama.NewAsyncProducer(strings.Split(*brokers, ","), config)
	if err != nil {
		fail(69, "failed to create producer: %s", err)
	}

	n := *messages
	value := sarama.ByteEncoder(bytes.Repeat([]byte("x"), *size))
	input := producer.Input()
	go func() { // sends and reads at once: unread Successes() would stall Input() (sarama's
		// Return.Successes deadlock, "at least ~516, up to a few thousand" messages)
		for range *warmup {
			input <- &sarama.ProducerMessage{Topic: *topic, Value: value}
		}
	}()
	for range *warmup {
		select {
		case <-producer.Successes():
		case perr := <-producer.Errors():
			fail(69, "warm-up message failed: %s", perr)
		}
	}

	latencies := make([]float64, 0, n)
	res := result{Client: "sarama", Version: saramaVersion(), GoVersion: runtime.Version(),
		GoMaxProcs: runtime.GOMAXPROCS(0), Messages: n, Size: *size, LatencyPer: "message"}
	done := make(chan struct{})
	go func() { // one reader for both channels, until every message has its result
		defer close(done)
		for range n {
			select {
			case msg := <-producer.Successes():
				latencies = append(latencies,
					float64(time.Since(msg.Metadata.(time.Time)).Nanoseconds())/1e6)
				res.Succeeded++
			case perr := <-producer.Errors():
				if res.Failed == 0 {
					res.FirstError = perr.Error()
				}
				res.Failed++
			}
		}
	}()

	cpu0 := cpuSeconds()
	start := time.Now()
	for i := range n {
		if *throughput > 0 { // the same pacing as the Python peers: sleep when 1 ms ahead
			due := start.Add(time.Duration(float64(i) / *throughput * 1e9))
			if ahead := time.Until(due); ahead > time.Millisecond {
				time.Sleep(ahead)
			}
		}
		input <- &sarama.ProducerMessage{Topic: *topic, Value: value, Metadata: time.Now()}
	}
	<-done
	elapsed := time.Since(start)
	res.CPUPerMsg = (cpuSeconds() - cpu0) / float64(n) * 1e6
	if err := producer.Close(); err != nil {
		fail(69, "failed to close producer: %s", err)
	}

	res.ElapsedS = elapsed.Seconds()
	res.MsgPerS = float64(n) / res.ElapsedS
	res.MiBPerS = res.MsgPerS * float64(*size) / (1 << 20)
	res.LatencyMs = map[string]float64{}
	if len(latencies) > 0 {
		sort.Float64s(latencies)
		for name, q := range map[string]float64{"p50": 0.50, "p75": 0.75, "p95": 0.95,
			"p99": 0.99, "p99.9": 0.999} {
			res.LatencyMs[name] = percentile(latencies, q)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(69, "%s", err)
	}
	if res.Failed > 0 {
		fail(69, "%d of %d messages failed; first: %s", res.Failed, n, res.FirstError)
	}
}
