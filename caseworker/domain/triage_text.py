"""Words of a citizen's message, for the triage model and the common-issue clusters.

Chinese has no spaces: words come from rjieba (the jieba dictionary, compiled in; nothing is
downloaded). Messages carry runs of tabs, newlines and full-width spaces from the boards'
exports; they are folded before anything is counted.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property

import rjieba

_SPACE = re.compile(r"\s+")
# A token worth counting has a letter, a digit or a CJK character in it; punctuation is not.
_WORDLIKE = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
_KEYWORD_SPLIT = re.compile(r"[、，,和及与/（）()]")

# Words every message uses: they say nothing about the matter (clusters, labels, repeats).
STOPWORDS: frozenset[str] = frozenset(
    {
        "的",
        "了",
        "是",
        "在",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "它",
        "他们",
        "和",
        "与",
        "及",
        "或",
        "也",
        "都",
        "就",
        "还",
        "又",
        "很",
        "太",
        "非常",
        "这",
        "那",
        "这个",
        "那个",
        "这些",
        "那些",
        "这样",
        "那样",
        "什么",
        "怎么",
        "怎么办",
        "为什么",
        "如何",
        "是否",
        "能否",
        "可以",
        "能",
        "会",
        "要",
        "想",
        "请",
        "请问",
        "希望",
        "恳请",
        "请求",
        "麻烦",
        "谢谢",
        "感谢",
        "您好",
        "你好",
        "领导",
        "尊敬",
        "相关",
        "部门",
        "有关",
        "问题",
        "情况",
        "反映",
        "关于",
        "一下",
        "一个",
        "没有",
        "不",
        "没",
        "有",
        "被",
        "把",
        "给",
        "让",
        "对",
        "向",
        "从",
        "到",
        "于",
        "为",
        "以",
        "因为",
        "所以",
        "但是",
        "但",
        "而",
        "并",
        "且",
        "如果",
        "已经",
        "现在",
        "目前",
        "今年",
        "去年",
        "一直",
        "已",
        "年",
        "月",
        "日",
        "号",
        "时",
        "个",
        "等",
        "上",
        "下",
        "里",
        "中",
        "后",
        "前",
        "多",
        "少",
        "每",
        "各",
        "其",
        "该",
        "此",
        "之",
        "所",
        "着",
        "过",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "嘛",
        "A市",
        "市",
        "区",
        "县",
        "是不是",
        "可否",
        "能不能",
        "及时",
        "尽快",
        "解决",
        "处理",
        "帮助",
        "帮忙",
        "要求",
        "进行",
        "工作",
        "存在",
        "严重",
        "一些",
        "很多",
        "许多",
        "大家",
        "自己",
        "居民",
        "市民",
        "群众",
        "老百姓",
        "网友",
        "本人",
        "家里",
    }
)


# Full-width letters and digits as their ASCII selves, and the ideographic space as a space:
# what NFKC does to them, at a fraction of its cost. Full-width punctuation (，。！) is how
# Chinese is written and stays.
_HALF_WIDTH = {
    cp: cp - 0xFEE0
    for first, last in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for cp in range(first, last + 1)
} | {0x3000: 0x20}


_FULL_WIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]")


def fold_width(text: str) -> str:
    """Full-width ASCII as ASCII (Ａ１ as A1); most text has none and is left as it is."""
    return text.translate(_HALF_WIDTH) if _FULL_WIDTH.search(text) else text


def clean(text: str | None) -> str:
    """One line of text: full-width to half-width, runs of whitespace to one space."""
    if not text:
        return ""
    return _SPACE.sub(" ", fold_width(text)).strip()


def words(text: str) -> list[str]:
    """The words of `text` (rjieba), without spaces and punctuation."""
    return [w for w in rjieba.cut(text) if _WORDLIKE.search(w)]


def content_words(text: str) -> list[str]:
    """The words that say what a message is about: no stopwords, no single characters."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS and not w.isdigit()]


@dataclass(frozen=True)
class KeywordTree:
    """Keywords per first-level category, from the bureau's category tree (its labels below)."""

    keywords: Mapping[str, frozenset[str]]

    @cached_property
    def _by_opening(
        self,
    ) -> tuple[dict[str, list[tuple[int, str, str]]], list[tuple[int, str, str]]]:
        """The keywords by their first two characters (and those shorter than two), each with
        its place in the order of `hits`, its token and itself."""
        index: dict[str, list[tuple[int, str, str]]] = {}
        short: list[tuple[int, str, str]] = []
        entries = (
            (f"kw:{category}:{keyword}", keyword)
            for category, found in self.keywords.items()
            for keyword in found
        )
        for at, (token, keyword) in enumerate(entries):
            entry = (at, token, keyword)
            if len(keyword) < 2:
                short.append(entry)
            else:
                index.setdefault(keyword[:2], []).append(entry)
        return index, short

    def hits(self, text: str) -> list[str]:
        """One token per keyword found in `text`, named by its category (`kw:城乡建设:物业服务`).

        Only the keywords opening with two characters that stand side by side in the text are
        looked for: most of the tree's thousand keywords are ruled out by the text's pairs."""
        index, short = self._by_opening
        pairs = {text[i : i + 2] for i in range(len(text) - 1)}
        found = [e for e in short if e[2] in text]
        for pair in pairs.intersection(index):
            found.extend(e for e in index[pair] if e[2] in text)
        found.sort()
        return [token for _, token, _ in found]


def keywords_from_tree(tree: Mapping[str, Mapping[str, list[str]]]) -> KeywordTree:
    """Each first-level category's keywords: its second- and third-level labels, split into
    their parts (`房产证登记、办理` gives 房产证登记 and 办理) and their words of two or more
    characters; 其他 says nothing and is left out."""
    out: dict[str, set[str]] = {}
    for category, branches in tree.items():
        found = out.setdefault(category, set())
        for branch, leaves in branches.items():
            for label in [branch, *leaves]:
                for part in _KEYWORD_SPLIT.split(label):
                    part = part.strip()
                    if len(part) >= 2 and part != "其他":
                        found.add(part)
                    found.update(w for w in rjieba.cut(part) if len(w) >= 2 and w != "其他")
    return KeywordTree({c: frozenset(sorted(k)) for c, k in out.items()})


@cache
def keyword_tree_from_toml(text: str) -> KeywordTree:
    """The keyword knowledge of a category tree file's text (data/category_tree.toml)."""
    return keywords_from_tree(tomllib.loads(text))
