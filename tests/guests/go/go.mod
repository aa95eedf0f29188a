module wprof.test/alloc

go 1.21
