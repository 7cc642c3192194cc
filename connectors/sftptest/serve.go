package sftptest

import (
	"net"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// serve accepts connections until the listener closes.
func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		closed := s.closed
		s.conns[conn] = true
		s.mu.Unlock()
		if closed { // Close ran between Accept and here
			conn.Close()
		}
		s.wg.Add(1)
		go s.handle(conn)
	}
}

// handle runs one SSH connection: session channels whose "sftp" subsystem
// request starts a pkg/sftp server in Dir; anything else is refused.
func (s *Server) handle(conn net.Conn) {
	defer s.wg.Done()
	defer s.forget(conn)
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go s.session(ch, creqs)
	}
}

// session answers a session channel's requests, serving SFTP on the
// first "sftp" subsystem request.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer s.wg.Done()
	started := false
	for req := range reqs {
		ok := !started && req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
		_ = req.Reply(ok, nil)
		if ok {
			started = true
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer ch.Close()
				srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.Dir))
				if err == nil {
					_ = srv.Serve()
					srv.Close()
				}
			}()
		}
	}
	if !started {
		ch.Close()
	}
}

// forget closes conn and drops it from the open connections.
func (s *Server) forget(conn net.Conn) {
	conn.Close()
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}
