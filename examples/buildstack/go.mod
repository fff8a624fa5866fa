module example.com/buildstack

go 1.22
