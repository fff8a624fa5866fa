package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// dockerChain finds where berth must accept its traffic so that Docker's
// iptables-nft FORWARD policy DROP does not drop it: DOCKER-USER (the
// chain Docker leaves to users and never rewrites) when it exists, else
// FORWARD itself. Returns nil when there is no such table or its FORWARD
// policy accepts.
func (f *Firewall) dockerChain() (*nftables.Table, *nftables.Chain) {
	t := &nftables.Table{Name: f.dockerTable, Family: nftables.TableFamilyIPv4}
	fwd, err := f.conn.ListChain(t, "FORWARD")
	if err != nil || fwd.Hooknum == nil || fwd.Policy == nil || *fwd.Policy != nftables.ChainPolicyDrop {
		return nil, nil
	}
	if user, err := f.conn.ListChain(t, "DOCKER-USER"); err == nil {
		return t, user
	}
	return t, fwd
}

// dockerAccept inserts, at the top of the chain dockerChain picks, one
// rule accepting packets from the network's bridge and one accepting
// packets to it. Berth's own forward chain still drops what must be
// dropped: a drop in any base chain is final, an accept is not.
func (f *Firewall) dockerAccept(n NetworkRules) error {
	t, ch := f.dockerChain()
	if ch == nil {
		return nil
	}
	if err := f.dockerRemoveFrom(t, ch, n.ID); err != nil {
		return err
	}
	ud := f.tag(netTag(n.ID))
	for _, m := range [][]expr.Any{matchIif(n.Bridge, expr.CmpOpEq), matchOif(n.Bridge, expr.CmpOpEq)} {
		f.conn.InsertRule(&nftables.Rule{Table: t, Chain: ch, UserData: ud,
			Exprs: rule(m, one(&expr.Counter{}, verdict(expr.VerdictAccept)))})
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("accept rules in ip %s %s: %w", t.Name, ch.Name, err)
	}
	return nil
}

func (f *Firewall) dockerRemove(id string) error {
	t := &nftables.Table{Name: f.dockerTable, Family: nftables.TableFamilyIPv4}
	for _, name := range []string{"DOCKER-USER", "FORWARD"} {
		ch, err := f.conn.ListChain(t, name)
		if err != nil {
			continue
		}
		if err := f.dockerRemoveFrom(t, ch, id); err != nil {
			return err
		}
	}
	return nil
}

func (f *Firewall) dockerRemoveFrom(t *nftables.Table, ch *nftables.Chain, id string) error {
	rules, err := f.conn.GetRules(t, ch)
	if err != nil {
		return nil
	}
	want := f.table.Name + " " + netTag(id)
	n := 0
	for _, r := range rules {
		if c, _ := userdata.GetString(r.UserData, userdata.TypeComment); c == want {
			if err := f.conn.DelRule(r); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("remove accept rules from ip %s %s: %w", t.Name, ch.Name, err)
	}
	return nil
}
