// The service: engine registry, runs, progress and RPC handlers (issue 6).
enum ServiceModule {}
