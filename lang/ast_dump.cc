// An indented dump of the AST (no spans), used by tests and `whittle parse`.
#include <fmt/format.h>

#include "lang/ast.h"

namespace whittle::lang::ast {

const char* unit_name(Unit u) {
  switch (u) {
    case Unit::Epochs:
      return "epochs";
    case Unit::Percent:
      return "percent";
    case Unit::Bits:
      return "bits";
    case Unit::Channels:
      return "channels";
    case Unit::Outputs:
      return "outputs";
    case Unit::None:
      return "";
  }
  return "";
}

std::string unit_suffix(Unit u, double n) {
  const bool one = n == 1;
  switch (u) {
    case Unit::Percent:
      return "%";
    case Unit::Epochs:
      return one ? " epoch" : " epochs";
    case Unit::Bits:
      return one ? " bit" : " bits";
    case Unit::Channels:
      return one ? " channel" : " channels";
    case Unit::Outputs:
      return one ? " output" : " outputs";
    case Unit::None:
      return "";
  }
  return "";
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  return out + "\"";
}

namespace {

void dump_args(std::string& out, const std::vector<Arg>& args);

void dump_value(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Number:
      out += "num " + v.text;
      break;
    case Value::Kind::Quantity:
      out += fmt::format("qty {} {}", v.text, unit_name(v.unit));
      break;
    case Value::Kind::String:
      out += fmt::format("str {:?}", v.text);
      break;
    case Value::Kind::Bool:
      out += v.boolean ? "true" : "false";
      break;
    case Value::Kind::Word:
      out += "word " + v.text;
      break;
    case Value::Kind::Ref:
      out += "$" + v.text;
      break;
    case Value::Kind::Arith:
      out += "(" + v.text;
      for (const Value& i : v.items) {
        out += " ";
        dump_value(out, i);
      }
      out += ")";
      break;
    case Value::Kind::Call:
      out += "call " + v.text + "(";
      dump_args(out, v.args);
      out += ")";
      break;
    case Value::Kind::List:
    case Value::Kind::Range:
      out += v.kind == Value::Kind::List ? "[" : "range[";
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ", ";
        dump_value(out, v.items[i]);
      }
      out += "]";
      break;
  }
  if ((v.kind == Value::Kind::Ref || v.kind == Value::Kind::Arith) && v.unit != Unit::None)
    out += std::string(" ") + unit_name(v.unit);
}

void dump_args(std::string& out, const std::vector<Arg>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i) out += ", ";
    if (args[i].named) out += args[i].name + ": ";
    dump_value(out, args[i].value);
  }
}

void dump_stmts(std::string& out, const std::vector<Stmt>& stmts, int depth) {
  const std::string ind(static_cast<std::size_t>(depth) * 2, ' ');
  for (const Stmt& s : stmts) {
    out += ind;
    switch (s.kind) {
      case Stmt::Kind::Recipe:
        out += "recipe " + s.name;
        break;
      case Stmt::Kind::Let:
        out += "let " + s.name + " = ";
        dump_value(out, s.value);
        break;
      case Stmt::Kind::Use:
        out += "use ";
        dump_value(out, s.value);
        break;
      case Stmt::Kind::Seed:
        out += "seed ";
        dump_value(out, s.value);
        break;
      case Stmt::Kind::From:
        out += "from ";
        dump_value(out, s.value);
        break;
      case Stmt::Kind::Repeat:
        out += "repeat ";
        dump_value(out, s.value);
        break;
      case Stmt::Kind::Sweep:
        out += "sweep " + s.name + " in ";
        dump_value(out, s.value);
        break;
      case Stmt::Kind::Search:
        out += "search lowest " + s.name + " where " + s.metric + " " + s.op + " ";
        dump_value(out, s.value);
        if (!s.args.empty()) {
          out += " (";
          dump_args(out, s.args);
          out += ")";
        }
        if (!s.as_name.empty()) out += " as " + s.as_name;
        break;
      case Stmt::Kind::Choose:
        out += "choose " + s.name + " in ";
        dump_value(out, s.value);
        if (s.flag) out += " monotone";
        break;
      case Stmt::Kind::Define:
      case Stmt::Kind::Network:
        out += (s.kind == Stmt::Kind::Define ? "define " : "network ") + s.name + "(";
        for (std::size_t i = 0; i < s.params.size(); ++i) {
          const Param& p = s.params[i];
          if (i) out += ", ";
          out += p.name + ": ";
          for (std::size_t w = 0; w < p.type.words.size(); ++w) out += (w ? "|" : "") + p.type.words[w];
          if (p.has_default) {
            out += " = ";
            dump_value(out, p.default_value);
          }
        }
        out += ")";
        break;
      case Stmt::Kind::Chain:
        out += "chain";
        for (const Stage& st : s.chain) {
          out += "\n" + ind + "  stage " + st.name + "(";
          dump_args(out, st.args);
          out += ")";
          if (!st.as_name.empty()) out += " as " + st.as_name;
          if (st.has_body) {
            out += " {\n";
            std::string inner;
            dump_stmts(inner, st.body, depth + 2);
            out += inner + ind + "  }";
          }
        }
        break;
    }
    out += "\n";
    dump_stmts(out, s.body, depth + 1);
  }
}

}  // namespace

std::string dump(const Value& v) {
  std::string out;
  dump_value(out, v);
  return out;
}

std::string dump(const Recipe& r) {
  std::string out;
  dump_stmts(out, r.stmts, 0);
  return out;
}

}  // namespace whittle::lang::ast
