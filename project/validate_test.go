package project

import (
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestCheckContainerNamesAndHealthchecks(t *testing.T) {
	second := time.Second
	c := types.ServiceConfig{Name: "c"}
	c.HealthCheck = &types.HealthCheckConfig{StartInterval: (*types.Duration)(&second)}
	p := &types.Project{Services: types.Services{
		"a": {Name: "a", ContainerName: "fixed"},
		"b": {Name: "b", ContainerName: "fixed"},
		"c": c,
	}}
	if err := CheckContainerNames(p, []string{"a"}); err != nil {
		t.Errorf("one service alone: %v", err)
	}
	if err := CheckContainerNames(p, []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), `container name "fixed" is already in use`) {
		t.Errorf("two services, one name: %v", err)
	}
	if err := CheckHealthchecks(p, []string{"a", "b"}); err != nil {
		t.Errorf("no healthcheck: %v", err)
	}
	if err := CheckHealthchecks(p, []string{"c"}); err == nil || !strings.Contains(err.Error(), "start_interval requires healthcheck.start_period") {
		t.Errorf("start_interval alone: %v", err)
	}
}
