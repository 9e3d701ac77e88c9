// A grpc-go server of the resilience fixture's res.v1.Flaky service (test/fixtures/resilience/resilience.proto),
// for attache's interoperability tests: grpc-go's own HTTP/2 stack and its default keepalive enforcement
// (one PING per 5 minutes while it sends nothing, none without calls, GOAWAY too_many_pings on the third
// offence). Messages are read and written with protowire, so no generated code is needed.
//
// Every execution prints "RAN <method> <key> <n>" (n: executions of that key) before sleeping sleep_ms, so a
// test can count what the server application really ran. "-min-time" scales the enforcement down for short
// tests; without it the server keeps grpc-go's defaults.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec hands the handlers the message bytes as they came.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var (
	mu     sync.Mutex
	counts = map[string]int{}
	out    = bufio.NewWriter(os.Stdout)
	outMu  sync.Mutex
)

func say(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(out, format+"\n", args...)
	out.Flush()
}

// request reads FlakyRequest's key (1) and sleep_ms (5).
func request(b []byte) (key string, sleepMs int64) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, m := protowire.ConsumeString(b)
			if m < 0 {
				return
			}
			key, b = v, b[m:]
		case num == 5 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return
			}
			sleepMs, b = int64(int32(v)), b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return
			}
			b = b[m:]
		}
	}
	return
}

func handler(method string) func(interface{}, context.Context, func(interface{}) error, grpc.UnaryServerInterceptor) (interface{}, error) {
	return func(_ interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
		var in []byte
		if err := dec(&in); err != nil {
			return nil, err
		}
		key, sleepMs := request(in)
		mu.Lock()
		counts[key]++
		n := counts[key]
		mu.Unlock()
		say("RAN %s %s %d", method, key, n)
		select {
		case <-time.After(time.Duration(sleepMs) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		reply := protowire.AppendTag(nil, 1, protowire.BytesType)
		reply = protowire.AppendString(reply, key)
		reply = protowire.AppendTag(reply, 2, protowire.VarintType)
		reply = protowire.AppendVarint(reply, uint64(n))
		return &reply, nil
	}
}

func main() {
	minTime := flag.Duration("min-time", 0, "keepalive enforcement MinTime (0: grpc-go's default, 5 minutes)")
	flag.Parse()
	encoding.RegisterCodec(rawCodec{})
	var opts []grpc.ServerOption
	if *minTime > 0 {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: *minTime}))
	}
	s := grpc.NewServer(opts...)
	methods := []grpc.MethodDesc{}
	for _, m := range []string{"Get", "Post", "Idem"} {
		methods = append(methods, grpc.MethodDesc{MethodName: m, Handler: handler(m)})
	}
	s.RegisterService(&grpc.ServiceDesc{ServiceName: "res.v1.Flaky", HandlerType: (*interface{})(nil), Methods: methods, Metadata: "resilience.proto"}, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	say("LISTENING %d", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
