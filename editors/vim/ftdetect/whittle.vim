" whittle recipes: *.recipe (over Vim's own `conaryrecipe` for that extension)
autocmd BufRead,BufNewFile *.recipe set filetype=whittle
