"""`{% pervisitor %}…{% endpervisitor %}`: what a cached page renders per request (subscriptions.shells).

Outside a shell (an ordinary render) the block renders in place like any other template text.
"""

from django import template

from subscriptions.shells import RECORDER_CONTEXT_KEY

register = template.Library()


class PerVisitorNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        recorder = context.get(RECORDER_CONTEXT_KEY)
        if recorder is not None:
            return recorder.marker(self.nodelist)
        return self.nodelist.render(context)


@register.tag
def pervisitor(parser, token):
    nodelist = parser.parse(("endpervisitor",))
    parser.delete_first_token()
    return PerVisitorNode(nodelist)
