// A grpc-go server with server reflection, for attache's --reflection tests (test/interop/reflection.test.ts).
// It serves grpc-go's own reflection test service (grpc.testing.SearchService: Search is unary,
// StreamingSearch bidirectional), the standard health service, and reflection (grpc-go 1.33 has only
// v1alpha, so attache's fallback from v1 is exercised). Prints "LISTENING <port>" once it listens.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	pb "google.golang.org/grpc/reflection/grpc_testing"
	"google.golang.org/grpc/status"
)

type search struct {
	pb.UnimplementedSearchServiceServer
}

func (search) Search(_ context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	if req.Query == "" {
		return nil, status.Error(codes.InvalidArgument, "query is empty")
	}
	return &pb.SearchResponse{Results: []*pb.SearchResponse_Result{{
		Url:      "https://example.test/" + req.Query,
		Title:    "grpc-go result for " + req.Query,
		Snippets: []string{"grpc-go", req.Query},
	}}}, nil
}

func main() {
	port := flag.Int("port", 0, "port to listen on (0: any free port)")
	flag.Parse()
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	pb.RegisterSearchServiceServer(s, search{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	fmt.Printf("LISTENING %d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
