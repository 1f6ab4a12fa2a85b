module github.com/example/workerpool

go 1.25
