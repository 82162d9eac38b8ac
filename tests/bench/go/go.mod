module greenevbench

go 1.19
