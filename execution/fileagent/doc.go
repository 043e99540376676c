// Package fileagent moves a task's files between the URLs their owners
// registered and the execution node, safely for untrusted URLs and bytes.
//
// Downloads take http(s), data: and file:// URLs (file:// only under the
// configured folders, through os.Root, so no "..", symlink or other path
// leaves them); uploads take HTTP PUT and file://; fusion:// names files
// the platform keeps in its own folder. One http.Client serves every
// transfer: its dialer checks every address a connection is about to use
// against the AddressPolicy (net.Dialer.Control, after name resolution
// and at every redirect), refusing loopback, private, link-local (the
// cloud metadata service 169.254.169.254 included), multicast,
// unspecified and reserved addresses and the platform's own listen
// addresses unless their host:port is allowlisted; it follows at most
// three redirects, never a proxy from the environment, and trusts the
// compiled-in Mozilla roots plus CAs the main binary embeds, never the
// host's certificate store. Sizes and times are bounded, and errors say
// "download failed" or "upload failed" with a short reason (the HTTP
// status, "destination not allowed", "file larger than 1 GiB") and no
// connection detail.
//
// Files live in a task's Scratch: in memory up to the task's budget, and
// beyond it in scratch files sealed with AES-256-GCM under a key that
// never leaves the process, so plaintext never reaches the host's disk.
package fileagent
