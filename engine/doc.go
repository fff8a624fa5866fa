// Package engine is the API the berth CLI calls (Up, Down, Ps, Logs, Run, Exec, …). Each call observes what runs, plans the difference to the project, and executes the plan.
package engine
