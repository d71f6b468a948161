package listing

import "slices"

// Slice cuts page p out of items, a short list already held in memory in
// its one order, with the same meaning of numbers and cursors as Find.
// keys gives the sort keys of the item at index i, tiebreaker last, as
// text that orders the way the items do (fixed-width times, ids).
func Slice[T any](items []T, p Params, keys func(i int, item T) []string) Page[T] {
	at := func(i int) []string { return keys(i, items[i]) }
	firstFrom := func(cmp func([]string) bool) int {
		for i := range items {
			if cmp(at(i)) {
				return i
			}
		}
		return len(items)
	}
	out := Page[T]{Window: Window{Total: int64(len(items))}}
	start, end := p.Offset(), p.Offset()+p.Size
	switch {
	case p.After != nil && p.After.End:
		start = len(items)
	case p.After != nil:
		start = firstFrom(func(k []string) bool { return slices.Compare(k, p.After.Keys) > 0 })
		end = start + p.Size
	case p.Before != nil:
		end = len(items)
		if !p.Before.End {
			end = firstFrom(func(k []string) bool { return slices.Compare(k, p.Before.Keys) >= 0 })
		}
		start = max(end-p.Size, 0)
		out.More = start > 0
	}
	start, end = min(start, len(items)), min(end, len(items))
	if p.Before == nil {
		out.More = end < len(items)
	}
	out.Items = items[start:end]
	if start < end {
		out.First, out.Last = &Cursor{Keys: at(start)}, &Cursor{Keys: at(end - 1)}
	}
	return out
}
