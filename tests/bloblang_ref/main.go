// Command bloblang-ref runs Bloblang mappings with the Benthos v4 library so that the differential
// test and the benchmark can compare our Python implementation against the reference.
//
// Serve mode (no arguments): one JSON request per stdin line, one JSON reply per stdout line.
//
//	request: {"mapping": str, "input": str, "input_b64": bool, "metadata": {key: value}}
//	reply:   {"ok": true, "deleted": bool, "content": str, "content_b64": bool, "metadata": {key: tagged}}
//	         {"parse_error": "line L char C: ..."} | {"exec_error": "..."} | {"panic": "..."}
//
// A request may also carry "bench": N, in which case the reply is {"ns_per_op": float,
// "cpu_ns_per_op": float, "iterations": N} (wall time and process CPU time per message)
// (or the parse/exec error of the first run).
//
// Bench mode: bloblang-ref bench [-n N] [-b64] [-meta JSON] MAPPING INPUT  prints "<ns> ns/op".
//
// A message is handled as the `mapping` processor does: root starts as nothing, the input metadata
// is copied to the output, a string/bytes root becomes the raw payload and anything else is encoded
// as JSON (sorted keys, no HTML escaping).
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	// The pure plugins add the methods and functions the mapping processor has in a normal build
	// (parse_json, format_json, number formatting, time methods...). No impure (io) plugins.
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

type request struct {
	Mapping  string         `json:"mapping"`
	Input    string         `json:"input"`
	InputB64 bool           `json:"input_b64"`
	Metadata map[string]any `json:"metadata"`
	Bench    int            `json:"bench"`
}

// parseMapping returns the executor or the positional error text ("line L char C: msg"), which is
// the form Benthos prints when a mapping in a config fails to parse.
func parseMapping(src string) (*bloblang.Executor, string) {
	exec, err := bloblang.Parse(src)
	if err == nil {
		return exec, ""
	}
	var pErr *bloblang.ParseError
	if !errors.As(err, &pErr) {
		return nil, err.Error()
	}
	// ErrorMultiline's first line is "line L char C: <msg>" but counts columns in bytes on
	// multi-line input; Line/Column are computed in runes like the single-line positional form.
	first := pErr.ErrorMultiline()
	lineStr := strconv.Itoa(pErr.Line)
	if idx := strings.Index(first, "\n"+strings.Repeat(" ", len(lineStr))+" |\n"); idx >= 0 {
		first = first[:idx]
	} else if idx := strings.Index(first, "\n"); idx >= 0 {
		first = first[:idx]
	}
	msg := first
	if strings.HasPrefix(first, "line ") {
		if idx := strings.Index(first, ": "); idx >= 0 {
			msg = first[idx+2:]
		}
	}
	return nil, fmt.Sprintf("line %d char %d: %s", pErr.Line, pErr.Column, msg)
}

func metaValue(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		if f, err := n.Float64(); err == nil {
			return f
		}
		return n.String()
	}
	switch t := v.(type) {
	case []any:
		for i := range t {
			t[i] = metaValue(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = metaValue(t[k])
		}
	}
	return v
}

func newMessage(req *request) (*service.Message, error) {
	content := []byte(req.Input)
	if req.InputB64 {
		var err error
		if content, err = base64.StdEncoding.DecodeString(req.Input); err != nil {
			return nil, fmt.Errorf("bad base64 input: %w", err)
		}
	}
	msg := service.NewMessage(content)
	for k, v := range req.Metadata {
		msg.MetaSetMut(k, metaValue(v))
	}
	return msg, nil
}

// tag encodes a metadata value with its Go type, so that the test can tell an int from a float
// and bytes from a string (plain JSON would lose both).
func tag(v any) any {
	switch t := v.(type) {
	case nil:
		return map[string]any{"null": true}
	case bool:
		return map[string]any{"bool": t}
	case string:
		if !utf8.ValidString(t) {
			// JSON would replace the invalid bytes; keep them exact.
			return map[string]any{"str_bytes": base64.StdEncoding.EncodeToString([]byte(t))}
		}
		return map[string]any{"str": t}
	case []byte:
		return map[string]any{"bytes": base64.StdEncoding.EncodeToString(t)}
	case int:
		return map[string]any{"int": strconv.FormatInt(int64(t), 10)}
	case int32:
		return map[string]any{"int": strconv.FormatInt(int64(t), 10)}
	case int64:
		return map[string]any{"int": strconv.FormatInt(t, 10)}
	case uint32:
		return map[string]any{"int": strconv.FormatUint(uint64(t), 10)}
	case uint64:
		return map[string]any{"int": strconv.FormatUint(t, 10)}
	case float32:
		return tagFloat(float64(t))
	case float64:
		return tagFloat(t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return map[string]any{"int": strconv.FormatInt(i, 10)}
		}
		f, _ := t.Float64()
		return tagFloat(f)
	case time.Time:
		return map[string]any{"time_ns": strconv.FormatInt(t.UnixNano(), 10)}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = tag(e)
		}
		return map[string]any{"array": out}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = tag(e)
		}
		return map[string]any{"object": out}
	}
	return map[string]any{"other": fmt.Sprintf("%T %v", v, v)}
}

func tagFloat(f float64) any {
	// Shortest round-trip text; the test parses it back into a Python float.
	switch {
	case math.IsNaN(f):
		return map[string]any{"float": "NaN"}
	case math.IsInf(f, 1):
		return map[string]any{"float": "+Inf"}
	case math.IsInf(f, -1):
		return map[string]any{"float": "-Inf"}
	}
	return map[string]any{"float": strconv.FormatFloat(f, 'g', -1, 64)}
}

// errReply reports an error text; one that is not UTF-8 (it quotes bytes of a sliced string, say)
// travels as base64 so that JSON does not replace those bytes.
func errReply(key, text string) map[string]any {
	if utf8.ValidString(text) {
		return map[string]any{key: text}
	}
	return map[string]any{key: base64.StdEncoding.EncodeToString([]byte(text)), "error_b64": true}
}

func run(req *request) (reply map[string]any) {
	defer func() {
		if r := recover(); r != nil {
			reply = map[string]any{"panic": fmt.Sprint(r)}
		}
	}()
	exec, perr := parseMapping(req.Mapping)
	if exec == nil {
		return errReply("parse_error", perr)
	}
	if req.Bench > 0 {
		return bench(exec, req, req.Bench)
	}
	msg, err := newMessage(req)
	if err != nil {
		return map[string]any{"bad_request": err.Error()}
	}
	res, err := msg.BloblangQuery(exec)
	if err != nil {
		return errReply("exec_error", err.Error())
	}
	if res == nil {
		return map[string]any{"ok": true, "deleted": true}
	}
	content, err := res.AsBytes()
	if err != nil {
		return map[string]any{"exec_error": err.Error()}
	}
	meta := map[string]any{}
	_ = res.MetaWalkMut(func(k string, v any) error {
		meta[k] = tag(v)
		return nil
	})
	out := map[string]any{"ok": true, "deleted": false, "metadata": meta}
	if utf8.Valid(content) {
		out["content"] = string(content)
		out["content_b64"] = false
	} else {
		out["content"] = base64.StdEncoding.EncodeToString(content)
		out["content_b64"] = true
	}
	return out
}

// bench times the whole per-message path: build the message from bytes, map it, serialise the
// result (the JSON parse of the input happens lazily inside the mapping, as in the processor).
func bench(exec *bloblang.Executor, req *request, n int) map[string]any {
	one := func() error {
		msg, err := newMessage(req)
		if err != nil {
			return err
		}
		res, err := msg.BloblangQuery(exec)
		if err != nil {
			return err
		}
		if res != nil {
			_, err = res.AsBytes()
		}
		return err
	}
	if err := one(); err != nil {
		return map[string]any{"exec_error": err.Error()}
	}
	cpuStart := cpuTime()
	start := time.Now()
	for i := 0; i < n; i++ {
		_ = one()
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpuStart
	return map[string]any{
		"ns_per_op":     float64(elapsed.Nanoseconds()) / float64(n),
		"cpu_ns_per_op": float64(cpu.Nanoseconds()) / float64(n),
		"iterations":    n,
	}
}

// cpuTime is the CPU time of the whole process so far (user and system, every thread, so the
// garbage collector's work counts): unlike wall time, other work on the machine does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func serve() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var req request
			var reply map[string]any
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				reply = map[string]any{"bad_request": jerr.Error()}
			} else {
				reply = run(&req)
			}
			_ = enc.Encode(reply)
			_ = out.Flush()
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		fs := flag.NewFlagSet("bench", flag.ExitOnError)
		n := fs.Int("n", 100000, "iterations")
		b64 := fs.Bool("b64", false, "INPUT is base64")
		metaJSON := fs.String("meta", "", "metadata as a JSON object")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 2 {
			fmt.Fprintln(os.Stderr, "usage: bloblang-ref bench [-n N] [-b64] [-meta JSON] MAPPING INPUT")
			os.Exit(2)
		}
		req := request{Mapping: fs.Arg(0), Input: fs.Arg(1), InputB64: *b64, Bench: *n}
		if *metaJSON != "" {
			if err := json.Unmarshal([]byte(*metaJSON), &req.Metadata); err != nil {
				fmt.Fprintln(os.Stderr, "bad -meta:", err)
				os.Exit(2)
			}
		}
		reply := run(&req)
		if ns, ok := reply["ns_per_op"]; ok {
			fmt.Printf("%.1f ns/op\n", ns)
			return
		}
		b, _ := json.Marshal(reply)
		fmt.Fprintln(os.Stderr, string(b))
		os.Exit(1)
	}
	serve()
}
