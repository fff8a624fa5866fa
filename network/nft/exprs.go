package nft

import (
	"encoding/binary"
	"net"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Expression builders for the few matches berth needs. Interface-name
// matches compare the name plus its NUL terminator, as iptables-nft writes
// them, so rules placed in an iptables-nft table stay readable by it.

func ifname(name string) []byte { return append([]byte(name), 0) }

func matchIif(name string, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

func matchOif(name string, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// matchAddr matches the IPv4 source (offset 12) or destination (16)
// address against a prefix.
func matchAddr(offset uint32, n *net.IPNet) []expr.Any {
	ip4 := n.IP.To4()
	mask := net.IP(n.Mask).To4()
	if len(n.Mask) == 4 {
		mask = net.IP(n.Mask)
	}
	ones, _ := n.Mask.Size()
	load := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}
	if ones == 32 {
		return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(ip4)}}
	}
	return []expr.Any{
		load,
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(mask), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(ip4.Mask(n.Mask[len(n.Mask)-4:]))},
	}
}

func matchSaddr(n *net.IPNet) []expr.Any { return matchAddr(12, n) }
func matchDaddr(n *net.IPNet) []expr.Any { return matchAddr(16, n) }

func host(ip net.IP) *net.IPNet { return &net.IPNet{IP: ip.To4(), Mask: net.CIDRMask(32, 32)} }

// matchCtBits matches when any of bits is set in the conntrack key.
func matchCtBits(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: key},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

// ipsDstNAT is IPS_DST_NAT of the conntrack status bits.
const ipsDstNAT = 1 << 5

func matchDNATed() []expr.Any { return matchCtBits(expr.CtKeySTATUS, ipsDstNAT) }

func matchNotDNATed() []expr.Any {
	m := matchCtBits(expr.CtKeySTATUS, ipsDstNAT)
	m[2].(*expr.Cmp).Op = expr.CmpOpEq
	return m
}

func matchEstablished() []expr.Any {
	return matchCtBits(expr.CtKeySTATE, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
}

// matchLocalDaddr is `fib daddr type local`.
func matchLocalDaddr() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func matchProtoPort(proto byte, port uint16) []expr.Any {
	p := make([]byte, 2)
	binary.BigEndian.PutUint16(p, port)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p},
	}
}

func dnatTo(ip net.IP, port uint16) []expr.Any {
	p := make([]byte, 2)
	binary.BigEndian.PutUint16(p, port)
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: []byte(ip.To4())},
		&expr.Immediate{Register: 2, Data: p},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

func verdict(k expr.VerdictKind) expr.Any { return &expr.Verdict{Kind: k} }

func jump(chain string) expr.Any { return &expr.Verdict{Kind: expr.VerdictJump, Chain: chain} }

func rule(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(e ...expr.Any) []expr.Any { return e }
