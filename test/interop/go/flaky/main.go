// A grpc-go server of the resilience fixture's res.v1.Flaky service (test/fixtures/resilience/resilience.proto),
// for attache's interoperability tests: grpc-go's own HTTP/2 stack and its default keepalive enforcement
// (one PING per 5 minutes while it sends nothing, none without calls, GOAWAY too_many_pings on the third
// offence). Messages are read and written with protowire, so no generated code is needed.
//
// Every execution prints "RAN <method> <key> <n>" (n: executions of that key) before sleeping sleep_ms, so a
// test can count what the server application really ran; a call cancelled while it sleeps (client cancel,
// deadline) prints "CANCELLED <method> <key>". The first fail_times executions of a key fail with `code`, a
// google.rpc.BadRequest detail and an `x-flaky-trailer` trailer; a success carries reply_bytes of padding.
// Flags: "-min-time" scales the keepalive enforcement down for short tests (default: grpc-go's own),
// "-port" a fixed port (restarts), "-max-streams" SETTINGS_MAX_CONCURRENT_STREAMS. SIGTERM stops gracefully:
// calls in flight finish, then the process exits.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	anypb "github.com/golang/protobuf/ptypes/any"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
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

// flakyRequest holds the FlakyRequest fields this server reads.
type flakyRequest struct {
	key                                  string
	failTimes, code, sleepMs, replyBytes int64
}

// request reads FlakyRequest: key (1), fail_times (2), code (3), sleep_ms (5), reply_bytes (6).
func request(b []byte) (r flakyRequest) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, m := protowire.ConsumeString(b)
			if m < 0 {
				return
			}
			r.key, b = v, b[m:]
			continue
		}
		if typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return
			}
			b = b[m:]
			switch num {
			case 2:
				r.failTimes = int64(int32(v))
			case 3:
				r.code = int64(int32(v))
			case 5:
				r.sleepMs = int64(int32(v))
			case 6:
				r.replyBytes = int64(int32(v))
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return
		}
		b = b[m:]
	}
	return
}

// failure is the status of a failing execution: the code, a google.rpc.BadRequest detail naming the key.
func failure(ctx context.Context, r flakyRequest) error {
	grpc.SetTrailer(ctx, metadata.Pairs("x-flaky-trailer", r.key))
	violation := protowire.AppendTag(nil, 1, protowire.BytesType)
	violation = protowire.AppendString(violation, "key")
	violation = protowire.AppendTag(violation, 2, protowire.BytesType)
	violation = protowire.AppendString(violation, "failing on purpose: "+r.key)
	badRequest := protowire.AppendTag(nil, 1, protowire.BytesType)
	badRequest = protowire.AppendBytes(badRequest, violation)
	detail := &anypb.Any{TypeUrl: "type.googleapis.com/google.rpc.BadRequest", Value: badRequest}
	return status.ErrorProto(&spb.Status{Code: int32(r.code), Message: fmt.Sprintf("flaky failure %d", r.code), Details: []*anypb.Any{detail}})
}

func handler(method string) func(interface{}, context.Context, func(interface{}) error, grpc.UnaryServerInterceptor) (interface{}, error) {
	return func(_ interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
		var in []byte
		if err := dec(&in); err != nil {
			return nil, err
		}
		r := request(in)
		mu.Lock()
		counts[r.key]++
		n := counts[r.key]
		mu.Unlock()
		say("RAN %s %s %d", method, r.key, n)
		if int64(n) <= r.failTimes && r.code != 0 {
			return nil, failure(ctx, r)
		}
		select {
		case <-time.After(time.Duration(r.sleepMs) * time.Millisecond):
		case <-ctx.Done():
			say("CANCELLED %s %s", method, r.key)
			// As a grpc-go service should: DEADLINE_EXCEEDED when the call's own deadline passed, CANCELLED
			// when the client cancelled. (Answering CANCELLED to its deadline made the 504 test race the
			// server's timer against attache's under load: 499 when the server's came first.)
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		reply := protowire.AppendTag(nil, 1, protowire.BytesType)
		reply = protowire.AppendString(reply, r.key)
		reply = protowire.AppendTag(reply, 2, protowire.VarintType)
		reply = protowire.AppendVarint(reply, uint64(n))
		if r.replyBytes > 0 {
			reply = protowire.AppendTag(reply, 4, protowire.BytesType)
			reply = protowire.AppendBytes(reply, make([]byte, r.replyBytes))
		}
		return &reply, nil
	}
}

func main() {
	minTime := flag.Duration("min-time", 0, "keepalive enforcement MinTime (0: grpc-go's default, 5 minutes)")
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free one)")
	maxStreams := flag.Uint("max-streams", 0, "SETTINGS_MAX_CONCURRENT_STREAMS (0: grpc-go's default)")
	flag.Parse()
	encoding.RegisterCodec(rawCodec{})
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(16 << 20), grpc.MaxSendMsgSize(16 << 20)}
	if *minTime > 0 {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: *minTime}))
	}
	if *maxStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(*maxStreams)))
	}
	s := grpc.NewServer(opts...)
	methods := []grpc.MethodDesc{}
	for _, m := range []string{"Get", "Post", "Idem"} {
		methods = append(methods, grpc.MethodDesc{MethodName: m, Handler: handler(m)})
	}
	s.RegisterService(&grpc.ServiceDesc{ServiceName: "res.v1.Flaky", HandlerType: (*interface{})(nil), Methods: methods, Metadata: "resilience.proto"}, struct{}{})
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	go func() {
		<-stop
		s.GracefulStop()
	}()
	say("LISTENING %d", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	say("STOPPED")
}
