" Syntax of whittle recipes (lang/grammar.md).
if exists('b:current_syntax') | finish | endif

syntax keyword whittleKeyword recipe let use seed from repeat sweep search choose lowest where monotone define network as over by
syntax keyword whittleBool true false
syntax keyword whittleStage data model train retrain finetune prune quantize convert evaluate score export sensitivity
syntax match whittleComment /#.*$/ contains=whittleDirective
syntax match whittleDirective /#\s*whittle:\s*allow(.*)/ contained
syntax region whittleString start=/"/ skip=/\\"/ end=/"/ oneline
syntax match whittleRef /\$[A-Za-z_][A-Za-z0-9_]*/
syntax match whittleNumber /\<-\?\d\+\(\.\d\+\)\?\([eE][-+]\?\d\+\)\?/
syntax match whittleQuantity /\<\d\+\(\.\d\+\)\?\s*\(%\|epochs\?\|bits\?\|channels\|outputs\)/
syntax match whittleParam /\<[a-z_][a-z0-9_]*\ze\s*:/
syntax match whittleOperator /->\|\.\./

highlight default link whittleKeyword Keyword
highlight default link whittleBool Boolean
highlight default link whittleStage Statement
highlight default link whittleComment Comment
highlight default link whittleDirective PreProc
highlight default link whittleString String
highlight default link whittleRef Identifier
highlight default link whittleNumber Number
highlight default link whittleQuantity Number
highlight default link whittleParam Type
highlight default link whittleOperator Operator

let b:current_syntax = 'whittle'
