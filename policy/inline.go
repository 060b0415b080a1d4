package policy

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// InlinePolicyName is the name of an inline policy that gives none.
const InlinePolicyName = "inline"

// ParseInline reads a policy sent with a request instead of shipped (POST
// /v1/preview): the YAML of a policy file, or the same as JSON (YAML reads
// JSON), with every rule of Parse, from a source that is not trusted. It
// also refuses text longer than MaxPolicyBytes, and anchors and aliases (&a,
// *a: a few hundred bytes of them name millions of values, and no policy
// needs them). The policy is named by its own name key, InlinePolicyName
// when it has none. Problems are a ValidationError naming each key path
// ("penalty.daily_rate"), at most maxDecodeProblems of them.
func ParseInline(data []byte) (Policy, error) {
	if len(data) > MaxPolicyBytes {
		return Policy{}, ValidationError{{Problem: fmt.Sprintf(
			"%d bytes: an inline policy has at most %d (MaxPolicyBytes)", len(data), MaxPolicyBytes)}}
	}
	name := InlinePolicyName
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil { // else Parse says what is wrong
		if at := aliased(&root); at != nil {
			return Policy{}, ValidationError{{Field: yamlPath(&root, at), Problem: fmt.Sprintf(
				"line %d: anchors and aliases (& and *) are not accepted in an inline policy: write each value out", at.Line)}}
		}
		if n := mappingValue(&root, "name"); n != nil && n.Kind == yaml.ScalarNode && n.Value != "" {
			name = n.Value
		}
	}
	p, err := Parse(name, data)
	if err == nil {
		return p, nil
	}
	var v ValidationError
	for _, e := range flatten(err) {
		var fe FieldError
		if !errors.As(e, &fe) {
			fe = FieldError{Problem: e.Error()}
		}
		v = append(v, fe)
	}
	if n := len(v); n > maxDecodeProblems {
		v = append(v[:maxDecodeProblems:maxDecodeProblems], FieldError{Problem: fmt.Sprintf("and %d more problems", n-maxDecodeProblems)})
	}
	return Policy{}, v
}

// aliased is the first node of the tree that is an alias or carries an
// anchor, nil when none does. It does not follow aliases.
func aliased(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := aliased(c); a != nil {
			return a
		}
	}
	return nil
}

// mappingValue is the value of key in the document's top-level mapping, or
// nil.
func mappingValue(root *yaml.Node, key string) *yaml.Node {
	n := root
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlPath is the key path of target in the tree ("reminders.ladder[2]"),
// "" for the document itself or when it is not found.
func yamlPath(n, target *yaml.Node) string {
	var walk func(n *yaml.Node, at string) (string, bool)
	walk = func(n *yaml.Node, at string) (string, bool) {
		if n == target {
			return at, true
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := joinKey(at, k.Value)
				if k == target {
					return key, true
				}
				if p, ok := walk(v, key); ok {
					return p, true
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if p, ok := walk(c, fmt.Sprintf("%s[%d]", at, i)); ok {
					return p, true
				}
			}
		default:
			for _, c := range n.Content {
				if p, ok := walk(c, at); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	p, _ := walk(n, "")
	return p
}
